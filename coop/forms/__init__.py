"""WTForms classes: the shape of input only. Governance lives in services."""
