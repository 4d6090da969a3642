"""Model presets: one TOML file per row of the paper's architecture table."""
