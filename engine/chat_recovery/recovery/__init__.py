"""Reports + a compiled `Policy` -> one recovery: check each report
(`reports`), fold the reports into state (`fold`), merge the chat logs and
replay their actions (`chat`), then decide and write the answer (`render`,
`directives`, `explain`, `conflicts`); `sources` is how a report's source
is keyed in the state. Pure: `now` is a parameter, nothing is read or
written.

May import: `replay`, `policy` and the foundations."""
