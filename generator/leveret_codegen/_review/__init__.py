"""Schema review: ``leveret breaking`` (what a change to a definition breaks) and ``leveret lint``.

Both produce ``Finding`` objects (``findings``), apply the ignores of a config file and of the
definitions (``ignores``) and print them through one set of formatters (``report``). Nothing here
prints but ``cli``.

- ``sources``: definition files from folders or a git revision, and ``$ref`` resolution over them.
- ``fingerprint``: a schema's structure with references resolved, to compare types by shape.
- ``compare_schema``: the direction-aware comparison of two schemas (requests may only get looser,
  responses only tighter).
- ``breaking``: pairs definitions and compares services, methods, errors and types.
- ``usage``: which schemas a run uses in requests and in responses.
- ``lint``: the lint rules.
"""
