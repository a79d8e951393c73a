"""The policy playground (`chat-recovery playground`): a local page where a
product owner edits the rule files and sees `policy check`'s diagnostics and
a report set's recovery change as they type. The page is built once from
playground-ui/ (`make ui`) and shipped built in static/, so pip needs no Node."""
