"""What the API and the pages share: access, injectables, limits, problems."""
