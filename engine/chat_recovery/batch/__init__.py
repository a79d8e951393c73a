"""Many visitors at once (`recover --batch`): `stream` indexes an NDJSON
file or a folder of reports and yields one recovery per visitor, in order;
`workers` spreads that over processes that survive a crash (`--jobs N`).

May import: `api`, `recovery`, `replay`, `policy` and the foundations."""
