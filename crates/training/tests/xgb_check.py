"""Reads or writes a gblinear model with the real xgboost package, for tests/it.rs.

Usage:
  xgb_check.py predict MODEL_FILE ROWS_JSON   predictions of MODEL_FILE (as Vertex AI's
                                              prebuilt container loads it) for the rows
  xgb_check.py fit MODEL_JSON ROWS_JSON       fits a gblinear binary:logistic model on the
                                              rows with xgboost, saves it as JSON text, and
                                              prints its predictions

ROWS_JSON is {"instances": [[f1, ..., f6], ...], "labels": [0 or 1, ...]} ("labels" only
for fit). Prints {"xgboost_version": "...", "predictions": [...]} on stdout.
"""

import json
import sys

import numpy as np
import xgboost as xgb


def predictions(booster, instances):
    # The prebuilt serving container builds a DMatrix straight from the instance lists.
    matrix = xgb.DMatrix(np.asarray(instances, dtype=np.float64))
    return [float(p) for p in booster.predict(matrix)]


def main(argv):
    if len(argv) != 4 or argv[1] not in ("predict", "fit"):
        sys.exit(__doc__)
    mode, model_path, rows_path = argv[1], argv[2], argv[3]
    with open(rows_path) as f:
        rows = json.load(f)

    if mode == "predict":
        booster = xgb.Booster(model_file=model_path)
    else:
        train = xgb.DMatrix(np.asarray(rows["instances"]), label=np.asarray(rows["labels"]))
        params = {"booster": "gblinear", "objective": "binary:logistic", "base_score": 0.3}
        booster = xgb.train(params, train, num_boost_round=5)
        booster.save_model(model_path)

    result = {"xgboost_version": xgb.__version__, "predictions": predictions(booster, rows["instances"])}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
