"""The bits of a replay slot's ``flags`` byte (one per stored env step)."""

#: the slot holds a transition (an action was taken in its observation)
VALID = 1
#: the slot's observation started an episode (frame stacks and windows never reach behind it)
FIRST = 2
#: the episode terminated after this transition (no next observation, discount 0)
TERMINATED = 4
#: the episode was cut short after it (the next slot holds the final observation to bootstrap from)
TRUNCATED = 8
