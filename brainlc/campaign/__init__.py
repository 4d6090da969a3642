"""Many experiments at once as Dask tasks: the tasks, the engine that runs them, and the
campaigns built on it (the thesis's table, sweeps, learning curves)."""
