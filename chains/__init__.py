"""soundstage's chain presets, shipped in the package as ``soundstage.presets`` (TOML data; see ``soundstage.host.chainfile.find_chain``)."""
