"""Fitting custom NumPyro models (``.py`` model files) with DPVI.

:mod:`twinify.custom_model` loads and runs the model file; this package fits it
with the same privacy plan, batch sampling and noise as the automatic mixture
model. The default mean-field Gaussian guide reuses the mixture model's DP-SGD
loop (:mod:`.latent_space`); a guide from the model file gets a generic loop
(:mod:`.guide_training`).
"""
