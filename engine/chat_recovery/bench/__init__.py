"""The recovery-storm benchmark behind `chat-recovery bench`.

storm (+ storm_chat, storm_values): a seeded generator of the uploads that
arrive when a chat server restarts. reference (+ reference_chat,
reference_check): the seed's tables written by hand, the speed yardstick.
measure: one engine timed end to end in its own process. run: a whole run,
every engine on one storm file."""
