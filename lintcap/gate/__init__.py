"""The gate in front of the GPU: trainer config + dataset + GPU, then exec."""
