import { storeContract } from "../testing/store-contract.js";
import { createMemoryStore } from "./memory-store.js";

storeContract({
  name: "memory",
  durable: false,
  async fresh() {
    const store = createMemoryStore();
    return { open: async () => store, cleanup: async () => undefined };
  },
});
