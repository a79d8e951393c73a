"""`policy diff`: `structure` (rule by rule, from the compiled policies),
`behaviour` (case by case, from recoveries) and `compare` (finds the cases
and gathers one result for the formatters)."""
