"""The Red-Green test of the F-Conv paper (Kayhan & van Gemert 2020): every seed of
every conv type (V-Conv, each S-Conv scheme, F-Conv); its table and figure."""
