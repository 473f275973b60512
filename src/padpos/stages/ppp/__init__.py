"""The PPP stage (Lin et al. 2023): the position-information pattern of every trained
backbone at every snapshot epoch; its tables and figures."""
