"""The boundary-effect stage (Islam et al. 2021): the canvas location test of a fresh net
per trained run, and the trained backbone's accuracy versus the object's distance to
the border; their tables and figures."""
