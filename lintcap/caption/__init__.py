"""Caption text: reading files, parsing into spans, lexicon hits."""
