#!/usr/bin/env python3
"""What nibabel reads from every volume of the shared data, for test_io to check our reader against.

For each .nii/.nii.gz under DATA_DIR (default: ../shared/data beside the repository) it records the
shape, nibabel's affine (img.affine: sform if sform_code > 0, else qform), the qform and sform with
their codes, the orientation codes (nib.aff2axcodes), the stored datatype and voxel statistics of
the scaled data (mean, std, min, max, sum of the middle slice along the third axis).

It also writes a few small files with nibabel itself (NIfTI-2, big-endian, every integer and float
datatype, scaling, qform-only with qfac -1), stored base64 in the fixture with their exact voxels:
cases the shared data do not cover.

Run from the repository root with the system Python (nibabel, numpy):
    /usr/bin/python3 tests/reference/make_nibabel_fixture.py [DATA_DIR]
Output: tests/reference/fixtures/nibabel_volumes.json
"""
import base64
import gzip
import io
import json
import os
import sys

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def matrix(m):
    return [float(x) for x in np.asarray(m, dtype=np.float64).ravel()]


def describe(img, data):
    h = img.header
    nz = data.shape[2] if data.ndim >= 3 else 1
    mid = data[:, :, nz // 2] if data.ndim >= 3 else data
    return {
        "shape": [int(s) for s in img.shape],
        "affine": matrix(img.affine),
        "qform": matrix(h.get_qform()),
        "sform": matrix(h.get_sform()),
        "qform_code": int(h["qform_code"]),
        "sform_code": int(h["sform_code"]),
        "axcodes": "".join(nib.aff2axcodes(img.affine)),
        "datatype": int(h["datatype"]),
        "mean": float(data.mean()),
        "std": float(data.std()),
        "min": float(data.min()),
        "max": float(data.max()),
        "middle_slice_sum": float(mid.sum()),
    }


def real_volumes(data_dir):
    out = []
    for root, _, files in sorted(os.walk(data_dir)):
        for name in sorted(files):
            if not (name.endswith(".nii") or name.endswith(".nii.gz")):
                continue
            path = os.path.join(root, name)
            img = nib.load(path)
            data = img.get_fdata(dtype=np.float64)
            entry = {"path": os.path.relpath(path, data_dir)}
            entry.update(describe(img, data))
            out.append(entry)
    return out


def synthetic_volumes():
    rng = np.random.RandomState(20240501)
    oblique = np.array([[0.9, -0.2, 0.1, -10.5], [0.25, 1.1, 0.05, 20.25], [-0.1, 0.0, 2.5, 5.0], [0, 0, 0, 1]])
    cases = [
        ("n2_int16_scaled_oblique.nii", nib.Nifti2Image, "<i2", (5, 4, 3), oblique, (0.5, 10.0), False),
        ("n1_bigendian_float64.nii", nib.Nifti1Image, ">f8", (4, 3, 2), np.diag([-2.0, 2.0, 3.0, 1.0]), None, False),
        ("n1_bigendian_int16_scaled.nii.gz", nib.Nifti1Image, ">i2", (4, 5, 3), np.diag([1.0, -1.0, 1.5, 1.0]), (2.0, -7.0), True),
        ("n1_uint8.nii.gz", nib.Nifti1Image, "u1", (6, 5, 4), np.diag([1.0, 1.0, 1.0, 1.0]), None, True),
        ("n1_int8.nii", nib.Nifti1Image, "i1", (3, 4, 5), np.diag([1.0, 1.0, 1.0, 1.0]), None, False),
        ("n1_uint16.nii", nib.Nifti1Image, "<u2", (3, 3, 3), np.diag([0.5, 0.5, 0.5, 1.0]), None, False),
        ("n1_int32.nii", nib.Nifti1Image, "<i4", (3, 3, 2), np.diag([1.0, 1.0, 1.0, 1.0]), None, False),
        ("n1_uint32.nii", nib.Nifti1Image, "<u4", (2, 3, 2), np.diag([1.0, 1.0, 1.0, 1.0]), None, False),
        ("n1_int64.nii", nib.Nifti1Image, "<i8", (2, 2, 3), np.diag([1.0, 1.0, 1.0, 1.0]), None, False),
        ("n1_float32.nii.gz", nib.Nifti1Image, "<f4", (4, 4, 4), oblique, None, True),
        ("n2_float64_bigendian.nii.gz", nib.Nifti2Image, ">f8", (3, 4, 2), oblique, None, True),
    ]
    out = []
    for name, cls, dtype, shape, affine, scale, gz in cases:
        dt = np.dtype(dtype)
        if dt.kind == "f":
            raw = rng.normal(100, 40, size=shape)
        else:
            info = np.iinfo(dt)
            raw = rng.randint(max(info.min, -30000), min(info.max, 30000) + 1, size=shape)
        raw = raw.astype(dt)
        img = cls(raw, affine, dtype=dt)
        if scale is not None:
            img.header.set_slope_inter(*scale)
        img.header["descrip"] = name.encode()
        bio = io.BytesIO()
        # nibabel writes the header's byte order: make big-endian headers for big-endian data.
        if dt.byteorder == ">":
            img = cls(raw, affine, header=img.header.as_byteswapped(">"))
            img.header.set_data_dtype(dt)
            if scale is not None:
                img.header.set_slope_inter(*scale)
        img.to_file_map({"image": nib.FileHolder(fileobj=bio), "header": nib.FileHolder(fileobj=bio)})
        blob = bio.getvalue()
        if gz:
            blob = gzip.compress(blob, mtime=0)
        back = nib.Nifti2Image.from_bytes(gzip.decompress(blob) if gz else blob) if cls is nib.Nifti2Image \
            else nib.Nifti1Image.from_bytes(gzip.decompress(blob) if gz else blob)
        data = back.get_fdata(dtype=np.float64)
        entry = {"name": name, "bytes_base64": base64.b64encode(blob).decode(), "big_endian": back.header.endianness == ">",
                 "version": 2 if cls is nib.Nifti2Image else 1,
                 "voxels": [float(x) for x in data.ravel(order="F")]}
        entry.update(describe(back, data))
        out.append(entry)
    # qform only, qfac = -1 (pixdim[0] = -1): the left-handed case of the quaternion.
    img = nib.Nifti1Image(np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.diag([2.0, 2.0, -3.0, 1.0]) @ np.array(
        [[0, 1, 0, 5], [1, 0, 0, -5], [0, 0, 1, 7], [0, 0, 0, 1]], dtype=float))
    img.set_qform(img.affine, code=1)
    img.set_sform(None, code=0)
    blob = img.to_bytes()
    data = img.get_fdata(dtype=np.float64)
    entry = {"name": "n1_qform_only_qfac_minus1.nii", "bytes_base64": base64.b64encode(blob).decode(), "big_endian": False,
             "version": 1, "voxels": [float(x) for x in data.ravel(order="F")]}
    entry.update(describe(img, data))
    out.append(entry)
    return out


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(REPO), "shared", "data")
    fixture = {
        "made_by": "tests/reference/make_nibabel_fixture.py",
        "nibabel_version": nib.__version__,
        "numpy_version": np.__version__,
        "volumes": real_volumes(data_dir),
        "synthetic": synthetic_volumes(),
    }
    out = os.path.join(HERE, "fixtures", "nibabel_volumes.json")
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{out}: {len(fixture['volumes'])} shared volumes, {len(fixture['synthetic'])} synthetic files")


if __name__ == "__main__":
    main()
