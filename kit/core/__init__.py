"""The kit's foundations: errors a person may see, settings, validation, the URL builder,
template helpers, log redaction. Imports nothing of the kit but itself."""
