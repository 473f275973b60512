"""The location (quadrant) test of the F-Conv paper (Kayhan & van Gemert 2020): accuracy
versus an extra border, per padding x initialisation, every seed; its table and figure."""
