"""One module per page of the panel; each holds its own SQL, reads and writes."""
