"""Counter-based random numbers for evaluation input: one uniform number per (key, image, step, input).

The evaluation model (:mod:`brainlc.sim.evaluation_model`) draws its Poisson input spikes from
:func:`image_uniform` instead of a random stream: the draw of input ``pixel`` at step
``step`` of image number ``image`` depends on those numbers and on the phase's ``key``
only. The spikes of an image are therefore the same whichever replica, chunk of images,
binary invocation or worker process presents it: an evaluation split across replicas or
cores gives exactly the result of presenting the images one at a time.

The generator is two rounds of SplitMix64's finaliser (Steele, Lea and Flood, 2014) over
the packed counters; the top 53 bits make a double in [0, 1). The same function exists
in C++, in CUDA and in numpy (:func:`uniform`, used by the tests and to make the same
spikes on the host).
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)

_C_BODY = """
{
    unsigned long long z = (((unsigned long long)key) << 32)
                           | (unsigned long long)(unsigned int)(long long)image;
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    z ^= (((unsigned long long)(unsigned int)step) << 32) | (unsigned long long)(unsigned int)pixel;
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}
"""
_SIGNATURE = "double brainlc_image_uniform(const double key, const double image, const int step, const int pixel)"
CPP_CODE = "static inline " + _SIGNATURE + _C_BODY
CUDA_CODE = "__host__ __device__ static inline " + _SIGNATURE + _C_BODY


def _mix(z: np.ndarray) -> np.ndarray:
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


def uniform(key: int, image, step, pixel) -> np.ndarray:
    """The draws of :data:`CPP_CODE` in numpy (arguments broadcast; ``key`` < 2**32)."""
    if not 0 <= int(key) < 2**32:
        raise ValueError(f"key must be in 0..2**32-1, got {key}")
    image = np.asarray(image, dtype=np.int64).astype(np.uint32).astype(np.uint64)
    step = np.asarray(step, dtype=np.int64).astype(np.uint32).astype(np.uint64)
    pixel = np.asarray(pixel, dtype=np.int64).astype(np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = _mix((np.uint64(int(key)) << np.uint64(32)) | image)
        z = _mix(z ^ ((step << np.uint64(32)) | pixel))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def input_spikes(key: int, first_image: int, probabilities: np.ndarray, steps: int) -> np.ndarray:
    """Bool spikes (image, step, input) that the evaluation model draws for these images.

    ``probabilities``: (image, input) per-step spike probabilities of images numbered
    ``first_image, first_image + 1, ...``; step ``s`` of an image is its ``s``-th time step
    (0-based); an input spikes where its probability is above 0 and above the draw.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    images = first_image + np.arange(len(p))
    u = uniform(key, images[:, None, None], np.arange(steps)[None, :, None],
                np.arange(p.shape[1])[None, None, :])
    return (p[:, None, :] > 0) & (u < p[:, None, :])


def brian_function():
    """``image_uniform(key, image, step, pixel)`` for Brian2 code (C++, CUDA and numpy)."""
    from brian2 import Function

    func = Function(lambda key, image, step, pixel: uniform(int(key), image, step, pixel),
                    arg_units=[1, 1, 1, 1], arg_types=["float", "float", "integer", "integer"],
                    return_unit=1, return_type="float", stateless=True)
    func.implementations.add_implementation("cpp", CPP_CODE, name="brainlc_image_uniform")
    func.implementations.add_implementation("cuda", CUDA_CODE, name="brainlc_image_uniform")
    return func
