"""What is kept on disk: the versioned store of saved networks and the NetCDF recordings."""
