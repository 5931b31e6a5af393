"""Settings: ``base`` is the embedded default, ``production`` tightens it, ``test`` speeds it up."""
