/*
 * rules_int — what the Lua host's files agree on about JSON in Lua: the
 * metatable that marks an array and how deep a value may nest.  Private to
 * rules*.c.  A header of its own because the two readers of JSON into Lua
 * share them: rules_conv (jansson values), which calls rules_text to read
 * the members of a record still text, and rules_text (a stored record's
 * text), which must then not include rules_conv back (no include cycle:
 * tests/03-layers.t).  No dependencies.
 */
#ifndef LIU_RULES_INT_H
#define LIU_RULES_INT_H

/* JSON arrays become Lua tables with this metatable (a registry key) so
 * that an empty array survives the round trip; rules.c registers it. */
#define RULES_ARRAY_MT "liud.array"
/* JSON nested deeper than this is an error, read from jansson or text. */
#define RULES_MAX_DEPTH 64

#endif
