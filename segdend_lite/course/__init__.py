"""The course: widgets, exercise checks, the exercise generator, plots, environment check."""
