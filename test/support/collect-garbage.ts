import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");

/**
 * A full garbage collection, without starting the test process with `--expose-gc`: a test that
 * measures what the service holds (not what it has allocated and let go) collects first.
 */
export const collectGarbage = vm.runInNewContext("gc") as () => void;
