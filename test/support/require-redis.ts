import { Redis } from "ioredis";

export const TEST_REDIS_URL = "redis://127.0.0.1:6379";

/** Fails with one clear line when the test Redis is not running, instead of hanging on retries. */
export async function requireRedis(url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `These tests need Redis at ${url} (start it with: redis-server --port 6379): ${(error as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }
}
