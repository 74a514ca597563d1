/* replaced by the real entry point below in this session */
int main(void) { return 1; }
