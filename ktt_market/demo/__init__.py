"""Demo data for a laptop or a showcase: `flask demo load`."""
