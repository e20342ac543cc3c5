"""segdend_lite."""
