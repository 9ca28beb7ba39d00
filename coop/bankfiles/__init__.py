"""Bank files as banks write them: CSV exports (with presets per bank), OFX, ISO 20022 CAMT.053."""
