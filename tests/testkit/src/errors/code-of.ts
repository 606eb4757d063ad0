/** The `code` and `message` of a promise that rejects with a coded error (PdError, PdClientError), or `OK`. */
export async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
    return { code: "OK", message: "" };
  } catch (err) {
    if (err instanceof Error && typeof (err as { code?: unknown }).code === "string") {
      return { code: (err as unknown as { code: string }).code, message: err.message };
    }
    throw err;
  }
}
