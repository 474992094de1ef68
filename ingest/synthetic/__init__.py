"""The synthetic corpus: a generator of plausible, clearly labelled projects (``generator``)
and its mapping onto the reference data (``default_dataset``). It stands on the readers'
floor of ``ingest`` and nothing below it imports it."""
