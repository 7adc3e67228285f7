"""Operating the kit: the ``kit`` command, checks, demo data, backup and export."""
