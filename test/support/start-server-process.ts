import { type ChildProcess, spawn } from "node:child_process";

export type ServerProcess = { child: ChildProcess; address: string; output: () => string };

export type StartServerProcessOptions = {
  /** Node's arguments: any flags, then the script that runs the server's `main`. */
  args: string[];
  /** Added to what every such process needs: a free port on loopback and the info-level "listening" line. */
  environment?: Record<string, string>;
  /** "collect" adds stderr to `output` (and to the start-up failure); "inherit" shows it with the test's own. */
  stderr: "collect" | "inherit";
};

/** Spawns a real server process and resolves with the address its "listening" log line reports. */
export function startServerProcess(options: StartServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    env: {
      PATH: process.env.PATH,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      ...options.environment,
    },
    stdio: ["ignore", "pipe", options.stderr === "collect" ? "pipe" : "inherit"],
  });
  let output = "";
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (chunk) => {
      output += chunk;
      const match = /"address":"(http:\/\/[^"]+)","model"/.exec(output);
      if (match) resolve({ child, address: match[1], output: () => output });
    });
    child.once("exit", (code) =>
      reject(new Error(`${options.args.at(-1)} exited early with ${code}: ${output}`)),
    );
  });
}
