"""The product owner's tools around a policy, never on a recovery's path:
`check` (what a policy that compiles may still get wrong), `diff` (what two
policies do differently), `docs` (the generated reference), `suites` (the
policy test suites) and `reload` (a policy directory watched and swapped in
whole).

May import: `api`, `recovery`, `replay`, `policy` and the foundations."""
