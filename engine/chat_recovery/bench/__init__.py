"""The recovery-storm benchmark: a seeded generator of the uploads that
arrive when a chat server restarts (`storm`), the seed's tables written by
hand as the speed yardstick (`reference`), and the measurement that
`chat-recovery bench` prints (`measure`)."""
