/** The default PD address (listen and dial), as in NoKV's Go PD. */
export const DEFAULT_PD_ADDR = "127.0.0.1:2379";
