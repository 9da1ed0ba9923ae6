"""Built-in SpinML plugin (work in progress)."""
