"""Report renderers: pure functions from results (and the evidence manifest) to text or bytes."""
