"""The operators' dashboard (`ektp dashboard`): the topics, the backlog, the dead-letter stream, the central
link and the stations' blank stock on one page, live, with a masked lookup and a token-guarded replay."""
