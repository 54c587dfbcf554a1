"""The study's chain and its views: inputs -> ESV -> land use -> carbon -> supply curve -> cost-effectiveness."""
