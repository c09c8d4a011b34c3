// Resumable evidence uploads (tus): a dropped connection is retried and the upload goes on from
// what the server has, so a large file is never sent twice.

import * as tus from "tus-js-client";

export interface UploadCallbacks {
  onProgress: (sent: number, total: number) => void;
  onDone: () => void;
  onError: (message: string) => void;
}

/** Uploads `file` with `metadata` (case, or request) to `/v1/uploads` as the token's user. */
export function upload(token: string, file: File, metadata: Record<string, string>, on: UploadCallbacks): tus.Upload {
  const job = new tus.Upload(file, {
    endpoint: "/v1/uploads",
    headers: { Authorization: `Bearer ${token}` },
    metadata: { filename: file.name, ...metadata },
    chunkSize: 8 * 1024 * 1024,
    retryDelays: [0, 500, 1000, 3000, 5000, 10000],
    removeFingerprintOnSuccess: true,
    onProgress: on.onProgress,
    onSuccess: on.onDone,
    onError: (err) => {
      const response = (err as tus.DetailedError).originalResponse;
      let message = err.message;
      try {
        message = JSON.parse(response?.getBody() ?? "").error ?? message;
      } catch {
        // not a JSON answer: keep tus's message
      }
      on.onError(message);
    },
  });
  job.start();
  return job;
}
