"""Downloads that survive a bad network (:mod:`.engine`) and offline bundles (:mod:`.bundle`)."""
