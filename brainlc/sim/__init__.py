"""How a network runs on Brian2: the equations, the Brian2 objects of the full and the
evaluation model, the devices (C++ standalone, brian2cuda), the compile cache, the compiled
network and its replicas. The only package that imports brian2 or brian2cuda."""
