"""A policy directory -> a checked, compiled, immutable `Policy` (the first
stage: read the YAML, check it against the schemas, then for meaning, and
compile). Also the wire contract and its compiled report check, which the
compile stage needs to know the names reports may use.

May import: the foundations (`timeutil`, `diagnostics`, `paths`, `json_identity`) only.
Nothing here knows about recoveries, engines' runtime or any shell."""
