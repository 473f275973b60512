"""The pretrained-model stage: how much position published models encode, models the
pipeline evaluates but does not train (torchvision, timm, a checkpoint file). Their
weights are fetched once into the libraries' own caches; PosENet, PPP with real context
and the location test read them offline, per model, tapped layer and (what-if) padding."""
