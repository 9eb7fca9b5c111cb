"""Made-up run directories (eval.csv, and summary.json once finished) for the results scripts'
tests."""
import json
import os


def run_dir(path, evals, final=None, iterations=25000, target=None):
    os.makedirs(path)
    with open(os.path.join(path, "eval.csv"), "w") as f:
        f.write("iteration,test_loss,test_accuracy\n")
        for i, a in evals:
            f.write(f"{i},0.5,{a}\n")
    if final is not None:
        with open(os.path.join(path, "summary.json"), "w") as f:
            json.dump({"iterations": iterations,
                       "target_iterations": iterations if target is None else target,
                       "final_test_accuracy": final}, f)
