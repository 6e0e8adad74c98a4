"""Every method of the book, one module and one config each, behind one registry.

The article's representations (``actjepa``, ``autoencoder``, ``contrastive``, ``recon``) and
the paper's chunked policies (``act``, ``diffusion_policy``, ``actjepa_paper``,
``actjepa_mlp_target``). See ``registry`` for the names and the one way to make, build,
train, save and load any of them, ``base`` for the policies' interface, and README.md for
adding a method.
"""
